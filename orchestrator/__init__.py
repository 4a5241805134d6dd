"""pindah: move on-premises servers into the national cloud."""

__version__ = "0.1.0"
