NAME        
ROWS
 N  Obj     
 E  r0      
 E  r1      
 E  r2      
 E  r3      
 E  r4      
 E  r5      
 E  r6      
 E  r7      
 E  r8      
 E  r9      
 E  r10     
 E  r11     
 G  r12     
 G  r13     
 L  r14     
 L  r15     
 L  r16     
 L  r17     
 L  r18     
 G  r19     
 G  r20     
 L  r21     
 L  r22     
 L  r23     
 L  r24     
 L  r25     
COLUMNS
    MARK0000  'MARKER'                 'INTORG'
    c0        r0        -1
    c0        r2        -1
    c1        Obj       0.9375
    c1        r0        1
    c1        r16       1
    c1        r17       -1.25
    c1        r18       -1.25
    c2        r1        -1
    c2        r3        -1
    c3        Obj       0.9375
    c3        r1        1
    c3        r16       1
    c3        r18       -1.25
    c4        Obj       1.40625
    c4        r2        1
    c4        r23       1
    c4        r24       -1.25
    c4        r25       -1.25
    c5        Obj       1.40625
    c5        r3        1
    c5        r23       1
    c5        r25       -1.25
    c6        r4        -1
    c6        r6        -1
    c7        Obj       0.25
    c7        r4        1
    c7        r14       -0.75
    c8        r5        -1
    c8        r7        -1
    c9        Obj       0.25
    c9        r5        1
    c9        r15       -0.75
    c10       Obj       0.375
    c10       r6        1
    c10       r21       -0.75
    c11       Obj       0.375
    c11       r7        1
    c11       r22       -0.75
    MARK0001  'MARKER'                 'INTEND'
    c12       Obj       0.5
    c12       r8        -1
    c12       r12       1
    c13       Obj       0.75
    c13       r8        1
    c13       r19       1
    c14       Obj       2.5
    c14       r9        -1
    c14       r12       1
    c15       Obj       1.875
    c15       r9        0.5
    c15       r19       0.5
    c16       Obj       1
    c16       r10       -1
    c16       r12       1
    c16       r17       1
    c17       Obj       1.5
    c17       r10       1
    c17       r19       1
    c17       r24       1
    c18       Obj       0.75
    c18       r11       -1
    c18       r12       1
    c18       r14       1
    c19       Obj       1.125
    c19       r11       1
    c19       r19       1
    c19       r21       1
    c20       Obj       0.5
    c20       r13       1
    c21       Obj       2.5
    c21       r13       1
    c22       Obj       1
    c22       r13       1
    c22       r18       1
    c23       Obj       0.75
    c23       r13       1
    c23       r15       1
    c24       Obj       1.875
    c24       r20       0.5
    c25       Obj       1.5
    c25       r20       1
    c25       r25       1
    c26       Obj       1.125
    c26       r20       1
    c26       r22       1
RHS
    RHS_V     r12       1.25
    RHS_V     r13       1.25
    RHS_V     r16       1
    RHS_V     r19       1.25
    RHS_V     r20       1.25
    RHS_V     r23       1
BOUNDS
 BV BOUND     c0      
 BV BOUND     c1      
 BV BOUND     c2      
 BV BOUND     c3      
 BV BOUND     c4      
 BV BOUND     c5      
 BV BOUND     c6      
 BV BOUND     c7      
 BV BOUND     c8      
 BV BOUND     c9      
 BV BOUND     c10     
 BV BOUND     c11     
 UP BOUND     c12       1.25
 UP BOUND     c13       1.25
 UP BOUND     c14       1.25
 UP BOUND     c15       2.5
 UP BOUND     c16       1.25
 UP BOUND     c17       1.25
 UP BOUND     c18       0.75
 UP BOUND     c19       0.75
 UP BOUND     c20       1.25
 UP BOUND     c21       1.25
 UP BOUND     c22       1.25
 UP BOUND     c23       0.75
 UP BOUND     c24       2.5
 UP BOUND     c25       1.25
 UP BOUND     c26       0.75
ENDATA
