"""Configuration: typed pydantic models, YAML + ${ENV} loading, validation errors."""
