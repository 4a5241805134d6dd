"""Agentless discovery: SSH transport, probes (command + pure parser), collection."""
