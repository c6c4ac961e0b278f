"""Configs shipped with knowforge: installed as the package data of ``knowforge_data.configs`` (corpus/resources.py)."""
