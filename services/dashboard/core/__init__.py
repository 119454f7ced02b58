"""Pure view logic of the dashboard: access rules, region names, chart and table models."""
