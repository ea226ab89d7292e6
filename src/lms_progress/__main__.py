from lms_progress.cli import app

app(prog_name="lms-progress")
