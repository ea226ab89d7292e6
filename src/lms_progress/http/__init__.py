"""The HTTP layer's shared pieces: the request guard, parameter parsing, error handlers."""
