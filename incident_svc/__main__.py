from incident_svc.cli.main import run

run()
