"""The wheels that let the lent GPU machines run the workflow itself: what the project needs that their image lacks.

The lent machines' image runs CPython 3.12 and holds torch, numpy, scipy, pandas, h5py, scikit-learn, numba and
pytest, but not Snakemake, librosa, soundfile, soxr, pulp or jsonschema, and nothing can be installed there from
the network. This script, run here (where pip reaches the package mirror), writes those packages as wheels for
CPython 3.12 on x86-64 Linux into one folder:

    python benchmarks/device_wheels.py            # .whl/ (git-ignored), then carry it: run(carry=[".whl"], ...)

``benchmarks/device_check.sh`` installs the folder, when it is there, into a folder of its own on the machine and
puts it first on ``PYTHONPATH``; its step ``workflow_grid`` then runs the 2014 grid through Snakemake on the GPU
(``benchmarks/grid.py``), and ``pytest_gpu`` runs every test module's GPU tests.

Which packages: every distribution the installed ``mgrfaults`` needs, followed through each requirement's
extras and environment markers as they read on the machine (Python 3.12, Linux, x86-64), less those the image
holds (``IMAGE_PACKAGES``: the image's package list as read on 2026-11-17, /work/.library/device/KINDS.md), each
at the version installed here, so the machine runs what CI tests. A compiled package is fetched as its CPython
3.12 build; a pure-Python one published only as a source archive is built into a wheel here.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import subprocess
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]

# the lent machines' Python (KINDS.md: "python3 is Python 3.12.3, at /opt/torch/.venv/bin/python3")
MACHINE_PYTHON = "3.12.3"
MACHINE_PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64",
                     "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_12_x86_64",
                     "manylinux_2_5_x86_64", "manylinux1_x86_64"]
# the image's packages (KINDS.md, "Python packages already there", read on 2026-11-17): never carried
IMAGE_PACKAGES = frozenset(canonicalize_name(name) for name in """
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core cuda-pathfinder
cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax
fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize
hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2
joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict multipledispatch
mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti
nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver
nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13
nvidia-nvtx onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client propcache
protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks pyre-extensions pytest
pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex
requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece
sentence-transformers setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate
tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope triton typer
typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt xarray xxhash yarl zipp
""".split())
# what the working tree may carry to a lent machine is 64 MiB in all; the repository's files are a few MiB
MAX_WHEELS_MB = 48.0


def machine_environment(python_full_version: str = MACHINE_PYTHON) -> dict[str, str]:
    """The environment markers as they read on the lent machines (CPython on x86-64 Linux)."""
    major_minor = ".".join(python_full_version.split(".")[:2])
    return dict(default_environment(), python_version=major_minor, python_full_version=python_full_version,
                implementation_name="cpython", platform_python_implementation="CPython", sys_platform="linux",
                platform_system="Linux", platform_machine="x86_64", os_name="posix")


def requirement_closure(root: str, environment: dict[str, str], requires=None, provided=frozenset()
                        ) -> dict[str, set[str]]:
    """Every distribution ``root`` needs, with the extras asked of it, its markers read in ``environment``.

    Parameters
    ----------
    root : str
        The distribution to start from (``"mgrfaults"``); it is not in the result.
    environment : dict
        Marker variables (:func:`machine_environment`).
    requires : callable, optional
        ``requires(name) -> list[str]``: a distribution's requirement strings (``Requires-Dist``). Defaults to the
        installed metadata; a name not installed raises ``SystemExit`` naming it and who needs it.
    provided : set of str
        Canonical names the machine has (its image): listed, but their own requirements are the image's affair
        (one may need on 3.12 what is not installed here).

    Returns
    -------
    dict
        ``{canonical name: extras}`` for every distribution needed, ``root`` excluded.
    """
    if requires is None:
        def requires(name):
            return metadata.distribution(name).requires or []
    needed: dict[str, set[str]] = {}
    pending = [(root, frozenset(), None)]
    while pending:
        name, extras, needed_by = pending.pop()
        key = canonicalize_name(name)
        if key in needed and extras <= needed[key]:
            continue
        needed.setdefault(key, set()).update(extras)
        if key in provided:
            continue
        try:
            lines = requires(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(f"{name}, needed by {needed_by}, is not installed here: install the project first "
                             "(pip install -e '.[test]')") from None
        for line in lines:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate(dict(environment, extra=extra)) for extra in (needed[key] or {""}))
            if wanted:
                pending.append((requirement.name, frozenset(requirement.extras), name))
    del needed[canonicalize_name(root)]
    return needed


def wheels_to_carry(root: str = "mgrfaults", image=IMAGE_PACKAGES, environment=None, requires=None,
                    version=metadata.version) -> dict[str, str]:
    """``{name: installed version}`` of what ``root`` needs on the machine and its image lacks."""
    closure = requirement_closure(root, environment or machine_environment(), requires, provided=image)
    return {name: version(name) for name in sorted(closure) if name not in image}


def fetch(name: str, version: str, dest: Path) -> Path:
    """Put ``name==version`` into ``dest`` as a wheel for the machine; return the wheel's path."""
    before = set(dest.glob("*.whl"))
    spec = f"{name}=={version}"
    platforms = [arg for platform in MACHINE_PLATFORMS for arg in ("--platform", platform)]
    pip = [sys.executable, "-m", "pip"]
    python = "".join(MACHINE_PYTHON.split(".")[:2])
    done = subprocess.run(pip + ["download", "--quiet", "--no-deps", "--only-binary=:all:", "--python-version", python,
                                 "--implementation", "cp", *platforms, "--dest", str(dest), spec],
                          capture_output=True, text=True)
    if done.returncode != 0:  # no wheel published: a source archive, built here (pure Python only, checked below)
        done = subprocess.run(pip + ["wheel", "--quiet", "--no-deps", "--wheel-dir", str(dest), spec],
                              capture_output=True, text=True)
    new = sorted(set(dest.glob("*.whl")) - before)
    if done.returncode != 0 or len(new) != 1:
        raise SystemExit(f"{spec}: no wheel for CPython {python} on x86-64 Linux:\n{done.stderr[-1500:]}")
    tags = new[0].name.removesuffix(".whl").split("-")[-3:]
    if not {"py3", f"cp{python}"} & set(tags[0].split(".")) and tags[1] != "abi3":
        new[0].unlink()
        raise SystemExit(f"{spec}: built {new[0].name}, which CPython {python} cannot import")
    return new[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", nargs="?", default=str(REPO / ".whl"), help="the wheels' folder (emptied of wheels first)")
    ap.add_argument("--list", action="store_true", help="only print what would be carried")
    args = ap.parse_args()
    carry = wheels_to_carry()
    if args.list:
        print("\n".join(f"{name}=={version}" for name, version in carry.items()))
        return
    dest = Path(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):  # one version of each: two would stop the install on the machine
        old.unlink()
    sizes = {}
    for name, version in carry.items():
        wheel = fetch(name, version, dest)
        sizes[wheel.name] = wheel.stat().st_size / 2**20
        print(f"{sizes[wheel.name]:7.2f} MiB  {wheel.name}", flush=True)
    total = sum(sizes.values())
    print(f"{len(sizes)} wheels, {total:.1f} MiB in {dest}")
    if total > MAX_WHEELS_MB:
        raise SystemExit(f"{total:.1f} MiB of wheels: over the {MAX_WHEELS_MB:g} MiB left of a device call's 64 MiB")


if __name__ == "__main__":
    main()
