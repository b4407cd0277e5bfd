"""The bmi benchmark (Czyz et al. 2023, "Beyond Normal") as the fourth experiment (``experiment.py``).

Two of its files are standalone scripts run by bmi's own venv (.venv-bmi), never imported here: ``sample_tasks.py``
writes the tasks' samples and a manifest; ``reference.py`` runs bmi's KSG and CCA on them. Neither imports
anchorbench or torch: benchmark-mi 0.1.3 pins numpy<2, pandas<2, pydantic<2.
"""

BMI_ENV_SCRIPTS = ("sample_tasks.py", "reference.py")  # run by .venv-bmi/bin/python, not importable here
