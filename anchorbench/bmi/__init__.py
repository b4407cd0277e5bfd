"""The bmi benchmark (Czyz et al. 2023, "Beyond Normal"): standalone scripts run by bmi's own venv (.venv-bmi).

``sample_tasks.py`` writes the tasks' samples and a manifest; ``reference.py`` runs bmi's KSG and CCA on them.
Neither imports anchorbench or torch: benchmark-mi 0.1.3 pins numpy<2, pandas<2, pydantic<2.
"""
