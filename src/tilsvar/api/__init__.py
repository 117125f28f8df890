"""The JSON API (``/api/v1``, OpenAPI at ``/docs``): thin handlers over access, inbox and actions."""
