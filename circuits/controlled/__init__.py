"""A memory inside a trained system (Tyulmankov et al. 2021, section 3.4): ``torch`` (controllers
around a memory) and ``copy_paste`` (the copy-paste task and its training)."""
