# make demo   set up .venv and run the tiny study (Table 1 in results/tiny/tables/)
# make test   set up .venv and run the tests (what CI runs)
# make docs   build the documentation site (docs/ -> site/) with mkdocs, failing on any warning
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch is installed first and pinned: on the build machines `pip install torch==2.13.0` takes a local CPU
# build. Elsewhere, for a CPU-only wheel: make demo TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_PIP_ARGS ?=

.PHONY: setup demo test docs rulegraph report clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e ".[test,slurm,docs]"
	# DeepSpeed (the pin of envs/training.yaml) for the multi-process tests; built against the torch above
	# (--no-build-isolation: an isolated build would fetch a CUDA torch), its ops compiled on first use
	$(BIN)/python -m pip install --quiet --no-build-isolation deepspeed==0.19.8
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake
	@echo "Table 1: results/tiny/tables/table1.md (also .csv and .png)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

report: $(STAMP)
	$(BIN)/snakemake --report report.html
	@echo "report: report.html (one self-contained page)"

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site
	@echo "docs: site/index.html"

rulegraph: $(STAMP)
	$(BIN)/snakemake --rulegraph

clean:
	rm -rf results .snakemake site
