"""Giving the WSL VM's memory back to Windows: the guest-side commands and the controller that decides."""
