"""Builds frameprint's Python extension with the project's own CMake build
(worker/python/CMakeLists.txt), so the module links the same libraries as
the programs. pyproject.toml holds the metadata.

Environment:
  FRAMEPRINT_CMAKE_ARGS   extra arguments for the CMake configure step
                          (e.g. "-DFRAMEPRINT_CUDA=OFF")
  FRAMEPRINT_BUILD_DIR    an existing, configured build directory to build
                          the extension in instead of a fresh one (its
                          Python must be the one pip runs)
  FRAMEPRINT_BUILD_JOBS   parallel compile jobs (default: all CPUs)
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(frameprint VERSION ([0-9.]+)", text).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        existing = os.environ.get("FRAMEPRINT_BUILD_DIR")
        build = pathlib.Path(existing or pathlib.Path(self.build_temp).resolve() / "cmake")
        if not existing:
            subprocess.check_call(
                [
                    "cmake",
                    "-S",
                    str(ROOT),
                    "-B",
                    str(build),
                    "-DCMAKE_BUILD_TYPE=Release",
                    "-DFRAMEPRINT_PYTHON=ON",
                    f"-DPython_EXECUTABLE={sys.executable}",
                    "-DFRAMEPRINT_BUILD_TESTS=OFF",
                    "-DFRAMEPRINT_BUILD_BENCHMARKS=OFF",
                    *shlex.split(os.environ.get("FRAMEPRINT_CMAKE_ARGS", "")),
                ]
            )
        jobs = os.environ.get("FRAMEPRINT_BUILD_JOBS") or str(os.cpu_count() or 1)
        subprocess.check_call(
            ["cmake", "--build", str(build), "--target", "frameprint_python", "-j", jobs]
        )
        built = build / "python" / "frameprint"
        native = [p for p in built.glob("_native*.so")]
        if len(native) != 1:
            raise RuntimeError(f"expected one _native extension in {built}, found {native}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(native[0], target)
        # The stills module (OpenCV) is found beside the extension.
        stills = built / "libframeprint_stills.so"
        if stills.exists():
            shutil.copy2(stills, target.parent / stills.name)


setup(
    version=project_version(),
    packages=["frameprint"],
    package_dir={"frameprint": "worker/python/frameprint"},
    ext_modules=[Extension("frameprint._native", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # setuptools' own build directory, apart from CMake's build/.
    options={"build": {"build_base": "build/setuptools"}},
    zip_safe=False,
)
