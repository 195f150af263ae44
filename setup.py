"""Only what pyproject.toml cannot say: the optional C helper.

crmcli._statkeys takes the stat keys of a folder's files in C (see
crmcli/_statkeys.c for why).  It is optional, as PyYAML's libyaml binding is:
where it does not compile (no C compiler, a system without fstatat), the
install goes on and crmcli does the same work in Python.
"""
import os

from setuptools import Extension, setup

ext_modules = []
if os.name == "posix" and os.environ.get("CRM_NO_EXTENSIONS") != "1":
    ext_modules.append(Extension("crmcli._statkeys", ["crmcli/_statkeys.c"], optional=True))

setup(ext_modules=ext_modules)
