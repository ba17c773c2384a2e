"""The tray's windows: history, schedule, settings. Each loads through the ApiWorker."""
