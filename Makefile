# Number Formats for AI: set up, build the book, run the tests.
#   make book   set up a virtual environment and build the HTML book (_build/html/index.html)
#   make test   set up and run the full test suite (what CI runs)
#   make sync   rewrite every paired .ipynb from its .md source

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOK_DIRS := chapters exercises solutions

.PHONY: setup book test test-support-and-notebooks test-book sync clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

# The full suite: support unit tests and static notebook checks, every notebook
# re-executed by nbval, then the book built with warnings as errors.
test: setup test-support-and-notebooks test-book

test-support-and-notebooks: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax -p no:cacheprovider --durations=60 tests $(NOTEBOOK_DIRS)

test-book: setup
	rm -rf _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

# The .md files are the sources: each .ipynb is rewritten from its .md, without outputs.
sync: setup
	$(BIN)/jupytext --quiet --update --to ipynb $(foreach d,$(NOTEBOOK_DIRS),$(wildcard $(d)/*.md))

clean:
	rm -rf _build .pytest_cache .hypothesis
