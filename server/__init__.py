"""The top of the program: assembles the app from every package and supervises the processes
(`python -m server` serves, `python -m server.stack` runs the whole system)."""
