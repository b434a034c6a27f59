# Number Formats for AI: set up, build the book, run the tests.
#   make book   set up a virtual environment and build the HTML book (_build/html/index.html)
#   make test   set up and run the full test suite (what CI runs)
#   make notebooks  build the book, then regenerate every reader notebook (.ipynb) from its .md
#   make student  the student edition in _build/student: book without solutions, notebooks, wheel

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOK_DIRS := chapters exercises solutions

.PHONY: setup book test test-support-and-notebooks test-book test-reader-notebooks test-colab notebooks student clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

# The full suite: support unit tests and static notebook checks, every notebook executed
# by nbval, the book built with warnings as errors from nbval's executions (conftest.py puts
# them in the build's jupyter-cache, so no notebook runs twice), every committed reader
# notebook compared with what the fresh build gives, then Colab simulated.
test: setup test-support-and-notebooks test-book test-reader-notebooks test-colab

# Two workers on CI's two cores, one BLAS/OpenMP thread each: a second thread per worker only
# waits for a core (measured: chapter 17 ran 1.3-2.5x slower with two threads under load).
test-support-and-notebooks: setup
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax -p no:cacheprovider --durations=60 tests $(NOTEBOOK_DIRS)

test-book: setup
	rm -rf _build/html
	$(BIN)/jupyter-book build . -W -n --keep-going

# Needs the build (_build/jupyter_execute holds the glued values); executes nothing.
test-reader-notebooks: setup
	$(BIN)/python tools/reader_notebooks.py --check

# A fresh environment with only Colab's packages runs a few reader notebooks, install cell included.
test-colab: setup
	NFAI_COLAB_SIMULATION=1 $(BIN)/python -m pytest -q -p no:cacheprovider --durations=10 tests/test_reader_notebooks.py -k simulated_colab

# The .md files are the sources: each reader notebook (.ipynb) is generated from its .md and
# the executed build (glued values), without outputs.
notebooks: book
	$(BIN)/python tools/reader_notebooks.py

# The student edition (see instructors.md): html/ without the solutions, notebooks/ to hand
# out, dist/ a wheel of support without answers. Not part of `make test` (it builds a book);
# tests/test_grade.py tests its parts. STUDENT_WHEEL_URL: where Colab notebooks install it from.
student: setup
	$(BIN)/python tools/student_edition.py --out _build/student $(if $(STUDENT_WHEEL_URL),--wheel-url $(STUDENT_WHEEL_URL))

clean:
	rm -rf _build .pytest_cache .hypothesis
