"""The report rendered: formatting (format.py), the email view model (view_model.py, view.py,
sections.py, export_views.py for a Data Export's own sections) and one renderer per output
(html.py, text.py, csv.py, xlsx.py, chat.py).

Nothing is imported here: the package is loaded by the first run that renders (lambdas/logic/outputs.py),
never at a handler's cold start (tests/unit/test_lazy_imports.py)."""
