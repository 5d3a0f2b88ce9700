"""kalman"""
