"""Tools over checkpoints and models: the command-line subcommands live here."""
