# Quick start (fresh Debian 12 / Ubuntu, as root):
#   make demo   install everything, then run the main job against the built-in lab estate
#   make test   install everything, then run the whole test suite (what CI runs)
.PHONY: setup demo test lint unit bench clean

setup:
	bash scripts/setup.sh

demo: setup
	bash scripts/demo.sh

lint: setup
	.venv/bin/ruff check orchestrator discovery tests
	.venv/bin/mypy
	.venv/bin/ansible-lint -q playbooks

test: lint
	.venv/bin/pytest -q -ra

unit: setup
	.venv/bin/pytest -q -m "not integration"

bench: setup
	@for script in tests/bench/*.py; do echo "== $$script"; .venv/bin/python "$$script" || exit 1; done

clean:
	rm -rf .venv build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
