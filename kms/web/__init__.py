"""The pages: server-rendered views over the services, with HTMX partial updates."""
