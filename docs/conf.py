"""Sphinx configuration of neurosim's documentation (MyST markdown, autodoc, notebooks from their
saved outputs).  Build: ``python -m sphinx -W -b html docs docs/_build`` (warnings are errors)."""
import shutil
import sys
from pathlib import Path

import neurosim

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

project = "neurosim"
author = "the neurosim developers"
copyright = "2026, the neurosim developers"
release = version = neurosim.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx.ext.viewcode", "cli_help"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"          # notebooks are rendered from the outputs saved with them
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "description"
html_theme = "furo"
html_title = f"neurosim {release}"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# The notebooks live in the repository's notebooks/ folder; Sphinx reads them from a copy.
_notebooks = HERE / "notebooks"
shutil.rmtree(_notebooks, ignore_errors=True)
shutil.copytree(HERE.parent / "notebooks", _notebooks)
