"""Bulk intake: a sheet an office keeps (CSV or XLSX), one person per row, taken in as a job.

Each row becomes the same body `POST /v1/intakes` takes and goes through the same submission
path (`intake.submission.submit_many`); this package only reads sheets, maps columns to fields
and back, and keeps the job's progress and error report.
"""
