"""Critical-minerals sourcing planner: least-cost sourcing plans from an Excel workbook."""

__version__ = "0.1.0"
