"""Kindling's developer tools, apart from the runtime package: the synthetic snapshot generator with
planted truth (``kindling generate``) and the evaluation of published scores against that truth
(``kindling evaluate``). Installed with the project by ``make env``; nothing in ``kindling`` or
``jobs`` imports them, except the CLI's two commands."""
