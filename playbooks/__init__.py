"""The migration playbooks, shipped as package data (see orchestrator.runner.shipped)."""
