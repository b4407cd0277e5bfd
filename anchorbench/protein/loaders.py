"""The real data: ProtT5 per-protein embeddings (UniProt ``per-protein.h5``) and OmniPath interaction exports.

Files in the data mirror (``protein_data.mirror`` or $ANCHORBENCH_DATA_MIRROR):
    protein/per-protein.h5                 one float dataset [1024] per UniProt accession (the key)
    protein/omnipath_kinase_extra.tsv      columns source, target (UniProt accessions); .csv also accepted
    protein/omnipath_ligrec_extra.tsv      same, ligand -> receptor
Rows whose source or target has no embedding (complexes, other species) are dropped, and so are duplicate
rows (the reference notebooks call ``drop_duplicates()`` without keeping its result).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anchorbench.mirror import require_file
from anchorbench.protein.dataset import ProteinSet

EMBEDDINGS = "protein/per-protein.h5"
TABLES = {"kinase": "protein/omnipath_kinase_extra", "ligand": "protein/omnipath_ligrec_extra"}
SOURCES = {
    EMBEDDINGS: "UniProt ProtT5-XL-U50 per-protein embeddings of the human proteome UP000005640_9606: "
                "https://ftp.uniprot.org/pub/databases/uniprot/current_release/knowledgebase/embeddings/"
                "UP000005640_9606/per-protein.h5",
    TABLES["kinase"]: "OmniPath kinase-substrate interactions: `omnipath.interactions.KinaseExtra.get()` (Python "
                      "client) saved with columns source, target, or https://omnipathdb.org/interactions?"
                      "datasets=kinaseextra",
    TABLES["ligand"]: "OmniPath ligand-receptor interactions: `omnipath.interactions.LigRecExtra.get()` saved with "
                      "columns source, target, or https://omnipathdb.org/interactions?datasets=ligrecextra",
}


def table_path(name: str, mirror: str | None) -> Path:
    """The interaction table of dataset ``name`` (.tsv, else .csv) in the mirror; FileNotFoundError otherwise."""
    stem = TABLES[name]
    try:
        return require_file(stem + ".csv", mirror, SOURCES[stem])
    except FileNotFoundError:
        return require_file(stem + ".tsv", mirror, SOURCES[stem] + " (tab-separated .tsv or comma-separated .csv)")


def read_pairs(path: Path) -> pd.DataFrame:
    """source, target accessions of a TSV/CSV export, duplicates dropped; ValueError naming missing columns."""
    path = Path(path)
    table = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str)
    missing = {"source", "target"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: interaction table needs columns 'source' and 'target' (UniProt accessions), "
                         f"missing {sorted(missing)}; found {list(table.columns)[:10]}")
    return table[["source", "target"]].dropna().drop_duplicates().reset_index(drop=True)


def read_embeddings(path: Path, accessions: list[str]) -> dict[str, np.ndarray]:
    """Embeddings of the ``accessions`` present in a ``per-protein.h5`` (one dataset per accession)."""
    import h5py

    out = {}
    with h5py.File(path, "r") as h5:
        for acc in accessions:
            if acc in h5:
                out[acc] = np.asarray(h5[acc], dtype=np.float32).ravel()
    dims = {v.shape[0] for v in out.values()}
    if len(dims) > 1:
        raise ValueError(f"{path}: embeddings of different lengths {sorted(dims)}; expected one vector per protein")
    return out


def load_real(name: str, mirror: str | None) -> ProteinSet:
    """Dataset ``name`` (kinase | ligand) from the mirror: pairs whose two proteins both have an embedding."""
    if name not in TABLES:
        raise ValueError(f"protein dataset must be one of {sorted(TABLES)}, got {name!r}")
    h5_path = require_file(EMBEDDINGS, mirror, SOURCES[EMBEDDINGS])
    pairs = read_pairs(table_path(name, mirror))
    emb = read_embeddings(h5_path, sorted(set(pairs.source) | set(pairs.target)))
    pairs = pairs[pairs.source.isin(emb) & pairs.target.isin(emb)]
    if pairs.empty:
        raise ValueError(f"protein dataset {name!r}: no interaction has embeddings for both proteins in {h5_path}")
    accessions = np.array(sorted(set(pairs.source) | set(pairs.target)))
    index = pd.Series(np.arange(len(accessions)), index=accessions)
    order = np.lexsort((index[pairs.target].to_numpy(), index[pairs.source].to_numpy()))
    return ProteinSet(name, accessions, np.stack([emb[a] for a in accessions]),
                      index[pairs.source].to_numpy(np.int64)[order], index[pairs.target].to_numpy(np.int64)[order])
