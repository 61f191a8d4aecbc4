"""Package discovery for the layout in setup.cfg (everything else is declared there).

``circuits/`` and ``protocols/`` are top-level folders installed as ``neurosim.circuits`` and
``neurosim.protocols``; setup.cfg cannot list the subpackages under such a mapping, so every
package below each mapped folder is found here and none is left out of a wheel.
"""
from setuptools import find_packages, setup

PACKAGE_DIRS = {"neurosim": "neurosim", "neurosim.circuits": "circuits",
                "neurosim.protocols": "protocols"}

setup(package_dir=PACKAGE_DIRS,
      packages=[f"{name}.{sub}" if sub else name for name, folder in PACKAGE_DIRS.items()
                for sub in ["", *find_packages(folder)]])
