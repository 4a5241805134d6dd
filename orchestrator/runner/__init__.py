"""Migration execution: the per-server state machine, the wave engine and its Ansible seam."""
