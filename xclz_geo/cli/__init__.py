"""The ``xclz-geo`` command line: one command, one module per subcommand, each thin over the library."""
