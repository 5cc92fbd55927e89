# The two commands a newcomer needs: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: help run demo-code test test-postgres test-browser lint format translations-extract translations-update translations-compile worker stack stack-down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

node_modules/axe-core/axe.min.js: package.json
	npm install --no-audit --no-fund --silent

translations-compile: $(STAMP) ## Compile the .po catalogs to .mo
	$(BIN)/pybabel -q compile -d translations

translations-extract: $(STAMP) ## Extract translatable strings to translations/messages.pot
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output -o translations/messages.pot .

translations-update: translations-extract ## Merge new strings into every catalog
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

run: $(STAMP) translations-compile ## Start the portal with demo data at http://127.0.0.1:5000 (and a worker)
	$(FLASK) demo
	$(FLASK) dev

stack: $(STAMP) translations-compile ## Start the production shape here (nginx with TLS, 2 app nodes, 2 workers, PostgreSQL, Redis, S3, clamd, SMTP)
	$(BIN)/python deploy/stack.py up

stack-down: ## Stop exactly what `make stack` started (its data stays in instance/stack)
	$(BIN)/python deploy/stack.py down

demo-code: $(STAMP) ## The code the demo staff's authenticator app shows now (the second sign-in step)
	@$(FLASK) demo-code

worker: $(STAMP) ## Run the background worker alone
	$(FLASK) worker

test: $(STAMP) translations-compile ## Run the whole test suite (import layers, unit, integration, browser)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node_modules/axe-core/axe.min.js; fi
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## Ruff lint and format check, mypy over the domain
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) instance node_modules
