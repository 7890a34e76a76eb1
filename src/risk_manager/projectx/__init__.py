"""ProjectX Gateway adapter: REST client, token manager, rate limiter, circuit breaker, hubs."""
