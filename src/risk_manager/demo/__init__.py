"""``risk-manager demo``: simulator + daemon + a scripted trader breaking the rules."""
