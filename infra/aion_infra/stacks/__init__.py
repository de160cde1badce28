"""The stacks, in deployment order: web, data, executor, api, site."""
