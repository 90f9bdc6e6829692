# The layout users were promised (`pip install -e .` next to setup.py) with no list of its own:
# name, version, dependencies, extras, packages and package data all live in pyproject.toml.
from setuptools import setup

setup()
