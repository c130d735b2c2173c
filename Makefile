# The two commands of the README. Both set up everything on a fresh machine (Debian packages, a
# virtualenv with every Python dependency, the C++ core) and then run.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.l1emu-installed
SOURCES := $(shell find src -type f) CMakeLists.txt pyproject.toml

.PHONY: setup test demo bench clean
setup: $(STAMP)

$(STAMP): $(SOURCES)
	@command -v g++ >/dev/null && command -v make >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make)
	@dpkg -s nlohmann-json3-dev >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nlohmann-json3-dev)
	@command -v ghdl >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ghdl)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q ".[hls4ml,conifer,test,plots,root,dask]"
	@touch $@

test: setup
	$(VENV)/bin/pytest tests -p no:cacheprovider -n 2 --dist loadgroup --durations=15

demo: setup
	$(VENV)/bin/l1emu demo

bench: setup
	$(VENV)/bin/pytest bench -p no:cacheprovider -o python_files="bench_*.py" --benchmark-columns=min,mean,rounds

clean:
	rm -rf build $(VENV) tests/.cache .l1emu-cache demo-out
