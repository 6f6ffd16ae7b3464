"""Build hook: compiles the C kernels in native/ into ssmn_rl._ssmn_native through cffi."""
from setuptools import setup

setup(cffi_modules=["ssmn_rl/_native_build.py:ffibuilder"])
