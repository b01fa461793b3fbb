"""The ``xclz-geo`` command line: one command, one module per subcommand, each thin over the library."""

__all__: list[str] = []
