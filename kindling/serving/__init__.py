"""What users read: queries over the published tables, their text/JSON/CSV formatting, the HTML report, graph exports."""
