"""outreachd: lawful, humane outreach to borrowers with overdue loans."""

__version__ = "0.1.0"
