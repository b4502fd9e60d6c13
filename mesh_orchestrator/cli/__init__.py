"""The ``mesh`` command line: run the mesh, check it, find a port, open the UI."""
