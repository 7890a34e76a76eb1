"""``risk-manager doctor``: the post-deployment checklist as one command. Each check gives a
verdict (ok, warn, fail) and, when not ok, what to do. ``verdict`` holds the shape,
``clock`` the offset arithmetic, ``checks`` the checks themselves; ``cli/doctor.py`` prints
them."""
