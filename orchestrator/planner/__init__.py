"""The first-cut planner: pure functions from planner inputs to a Plan."""

from orchestrator.planner.build import build_plan
from orchestrator.planner.inputs import (
    EdgeInput,
    ExternalConnection,
    PlannerInputs,
    ServerInput,
    build_inputs,
    make_inputs,
)

__all__ = ["EdgeInput", "ExternalConnection", "PlannerInputs", "ServerInput", "build_inputs",
           "build_plan", "make_inputs"]
