"""asyncio shell: drivers that feed cores, run their effects and keep their timers armed."""
