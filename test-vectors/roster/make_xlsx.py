"""Writes roster.xlsx, the spreadsheet `cli/tests/it/roster_dashboard.rs` imports: what an
officer's Excel file looks like (numbers as numbers, a NIK typed into a number cell, a second
sheet of notes). Run once with openpyxl (pip install openpyxl); the .xlsx is committed."""
import openpyxl

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "KPM"
ws.append(["NIK", "Name", "Address", "Province", "Regency", "District", "Village",
           "Post_office", "Amount", "Period", "Worker_id"])
# NIK as text, amount as a number, province and regency as numbers (Excel's habit).
ws.append(["3171010101900021", "Ma’ruf Nguyễn", "Jl. Kenari 1", 31, 3171, 317101, 3171011001,
           "jakarta-10110", 600000, "blt-2026-12", "pos-1"])
# An amount written with dots, as text.
ws.append(["3171010101900022", "Wulan", "Jl. Kenari 2", "31", "3171", "317101", "3171011001",
           "jakarta-10110", "600.000", "blt-2026-12", "pos-1"])
# A NIK typed into a number cell: Excel keeps 15 significant digits.
ws.append([3171010101900023, "Angka", "Jl. Kenari 3", 31, 3171, 317101, 3171011001,
           "jakarta-10110", 600000, "blt-2026-12", "pos-1"])
notes = wb.create_sheet("Catatan")
notes.append(["this sheet is not the roster"])
wb.save("roster.xlsx")
