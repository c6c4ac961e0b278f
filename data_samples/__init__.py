"""Demo inputs shipped with knowforge: installed as the package data of ``knowforge_data.data_samples`` (corpus/resources.py)."""
