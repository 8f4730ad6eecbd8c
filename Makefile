# Every target bootstraps .venv itself (Python 3.11: the ROS 2 kilted wheels are cp311 only).
# Setup is idempotent: a stamp keyed on the requirements and package metadata skips it when nothing changed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SETUP_HASH := $(shell cat requirements.txt requirements-runtime.txt requirements-tensorrt.txt requirements-interfaces.txt setup.py setup.cfg package.xml Makefile video_object_msgs/package.xml video_object_msgs/CMakeLists.txt video_object_msgs/msg/*.msg 2>/dev/null | sha256sum | cut -c1-16)
STAMP := $(VENV)/.setup-$(SETUP_HASH)

# ament-index lookups and ROS logs stay inside the venv / a scratch folder.
export AMENT_PREFIX_PATH := $(abspath $(VENV))
export ROS_LOG_DIR ?= $(abspath $(VENV))/ros_log
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test demo bench clean

setup: $(STAMP)

$(STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the ROS 2 wheels need CPython 3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# An editable install skips data_files and puts executables in bin/: make the venv a real ament prefix
	@# (lib/video_object_node/ executables, share/video_object_node/ files that a walk finds, the package marker).
	$(BIN)/python -m video_object_node.devtools.ament_prefix $(VENV)
	@# The interface package video_object_msgs (rosidl, ament_cmake) from the ROS wheels, with cmake and a C compiler.
	$(BIN)/python tools/build_interfaces.py video_object_msgs --prefix $(abspath $(VENV))
	@rm -f $(VENV)/.setup-*
	@touch $@
	@echo "setup complete: $(VENV)"

test: setup
	$(BIN)/python -m pytest -q test

demo: setup
	$(BIN)/python -m video_object_node.devtools.demo

bench: setup
	$(BIN)/python -m video_object_node.bench.suite

clean:
	rm -rf $(VENV) build *.egg-info
